// Package viewer carries who is calling through a context. It imports nothing
// from ent so that ent's schema (and its privacy rules) can depend on it.
package viewer

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// Role is a staff member's role in their company.
type Role string

// The staff roles of DESIGN.md §3.
const (
	Admin              Role = "ADMIN"
	SalesManager       Role = "SALES_MANAGER"
	SalesAllocation    Role = "SALES_ALLOCATION"
	CreditManager      Role = "CREDIT_MANAGER"
	Salesperson        Role = "SALESPERSON"
	AccountsReceivable Role = "ACCOUNTS_RECEIVABLE"
	Viewer             Role = "VIEWER"
)

// Roles lists every role, in the order screens show them.
var Roles = []Role{Admin, SalesManager, SalesAllocation, CreditManager, Salesperson, AccountsReceivable, Viewer}

// DefaultCardManagers are the roles that may manage cards unless a company says otherwise (the seed's security level).
var DefaultCardManagers = []Role{Admin, SalesManager, SalesAllocation, CreditManager}

// Values lets ent use Role as an enum type.
func (Role) Values() []string {
	out := make([]string, len(Roles))
	for i, r := range Roles {
		out[i] = string(r)
	}
	return out
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Staff is a signed-in staff member, resolved from their session.
type Staff struct {
	StaffID   int
	CompanyID int
	Role      Role
	// CanManageCards is the company's card-manager setting applied to Role.
	CanManageCards bool
	SessionID      int
}

// CanReadAudit reports whether the staff member may read the audit trail.
func (s *Staff) CanReadAudit() bool { return s.Role == Admin || s.Role == CreditManager }

type ctxKey struct{}

// NewContext returns ctx carrying the staff viewer.
func NewContext(ctx context.Context, s *Staff) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the staff viewer, or nil for an anonymous caller.
func FromContext(ctx context.Context) *Staff {
	s, _ := ctx.Value(ctxKey{}).(*Staff)
	return s
}

type originKey struct{}

// WithOrigin records the caller's IP address for the audit trail.
func WithOrigin(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, originKey{}, ip)
}

// Origin returns the caller's IP address, or "".
func Origin(ctx context.Context) string {
	ip, _ := ctx.Value(originKey{}).(string)
	return ip
}

// MarshalGQL writes the role as a GraphQL enum value.
func (r Role) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(r))) }

// UnmarshalGQL reads a GraphQL enum value.
func (r *Role) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !Role(s).Valid() {
		return fmt.Errorf("%v is not a valid Role", v)
	}
	*r = Role(s)
	return nil
}
