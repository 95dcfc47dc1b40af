package ws

// defaultMaxErrors is the number of entries a 400 errorList holds at most,
// unless [WithMaxErrors] sets another.
const defaultMaxErrors = 100

// WithMaxErrors caps the 400 errorList at n entries, followed by one entry
// that counts the errors left out (see [ErrorList]); validation of a message
// stops soon after the cap. The default is [defaultMaxErrors]. Zero lists
// none: the reply only says how many errors there were, or that there was
// at least one. A negative n removes the cap, the bound on the reply's size
// and the bound on the work validation does for a message: use it only for
// clients you trust.
func WithMaxErrors(n int) CallbackOption {
	return callbackOption(func(c *config) { c.maxErrors = n })
}
