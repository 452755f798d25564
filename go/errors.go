package net

// Errors: every failure is an *Error with a stable kind; the sentinels in
// errors_table.go (generated from the engine's one table by scripts/gen-tables)
// let callers match kinds with errors.Is.

import "fmt"

// Error is a failure reported by the engine.
type Error struct {
	// Kind is the stable "<area>:<reason>" string, the same in every language.
	Kind string
	// Area is the part of Net that failed ("bus", "mesh", "redex", ...).
	Area string
	// Reason is what went wrong, the same word in every area ("shutdown",
	// "io", "invalid_argument", ...): compare it to match any area.
	Reason string
	// Code is the stable numeric code of the C ABI (negative).
	Code int
	// Detail says what happened.
	Detail string
}

// Error formats as "<kind>: <detail>".
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind
	}
	return e.Kind + ": " + e.Detail
}

// Is reports whether target is an *Error of the same kind, so
// errors.Is(err, net.ErrBackpressure) works for any detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// with is a copy of the sentinel e carrying detail.
func (e *Error) with(detail string) *Error {
	c := *e
	c.Detail = detail
	return &c
}

// errorFor builds an *Error for a status code and the failure's detail (the
// message without its kind, as net_last_error_detail gives it).
func errorFor(code int, detail string) error {
	for _, k := range Kinds() {
		if k.Code == code {
			return &Error{Kind: k.Kind, Area: k.Area, Reason: k.Reason, Code: code, Detail: detail}
		}
	}
	return &Error{Kind: "unknown", Area: "unknown", Reason: "unknown", Code: code, Detail: fmt.Sprintf("status %d: %s", code, detail)}
}
