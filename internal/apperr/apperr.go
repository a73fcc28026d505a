// Package apperr is cardfile's one list of error codes (DESIGN.md §4). Domain
// packages return these; the GraphQL error presenter turns them into
// extensions.code. Messages are safe to show; causes stay in the server log.
package apperr

import (
	"errors"
	"fmt"
)

// Code is a client-visible error code.
type Code string

// The error codes of DESIGN.md §4.
const (
	Unauthenticated    Code = "UNAUTHENTICATED"
	Forbidden          Code = "FORBIDDEN"
	NotFound           Code = "NOT_FOUND"
	BadUserInput       Code = "BAD_USER_INPUT"
	Conflict           Code = "CONFLICT"
	CardDeclined       Code = "CARD_DECLINED"
	GatewayUnavailable Code = "GATEWAY_UNAVAILABLE"
	LinkUnavailable    Code = "LINK_UNAVAILABLE"
	PaymentNotAllowed  Code = "PAYMENT_NOT_ALLOWED"
	RateLimited        Code = "RATE_LIMITED"
	// ServiceUnavailable: cardfile cannot reach its database; try again
	// after RetryAfter. Not the caller's fault, and no answer about them.
	ServiceUnavailable Code = "SERVICE_UNAVAILABLE"
	Internal           Code = "INTERNAL"
)

// Error is an error with a code, a message safe for the client, and, for
// bad input, the field at fault.
type Error struct {
	Code    Code
	Message string
	Field   string
	Reason  string // a machine-readable reason, e.g. for PAYMENT_NOT_ALLOWED
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause, for the log.
func (e *Error) Unwrap() error { return e.cause }

// New returns an error with code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and message that keeps cause for the log.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), cause: cause}
}

// BadInput reports a problem with one input field.
func BadInput(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Message: fmt.Sprintf(format, args...), Field: field}
}

// NotFoundf reports an unknown, or not visible, object. Other tenants' objects
// get the same answer as objects that do not exist.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// CodeOf returns err's code: the code of an *Error in its chain, else
// ServiceUnavailable for a database that cannot be reached, else Internal.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case Unavailable(err):
		return ServiceUnavailable
	}
	return Internal
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
