package jobs

//go:generate go run ../tools/genstatus -type Status -in status.go -out status_string.go

// Status is where a job is in its life cycle. The String, ParseStatus,
// MarshalText and UnmarshalText methods are generated into status_string.go.
type Status int

// The order here is the order of the life cycle; the text form is the name
// without the "Status" prefix, in lower case ("queued", "running", ...).
const (
	StatusQueued Status = iota
	StatusRunning
	StatusDone
	StatusFailed
	StatusCancelled
)

// Terminal reports whether a job in this status will never run again.
func (s Status) Terminal() bool {
	return s == StatusDone || s == StatusFailed || s == StatusCancelled
}
