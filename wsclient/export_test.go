package wsclient

// QueuedPushes returns how many pushes wait for the handlers of c.
func QueuedPushes(c *Client) int { return len(c.pushq) }
