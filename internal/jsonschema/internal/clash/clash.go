// Package clash holds types whose names clash with the tests' own.
package clash

// Room shares its name with a type of the tests.
type Room struct {
	Seats int `json:"seats"`
}
