package schema

import "time"

// now is the schema's default clock, in UTC so both databases store the same instant.
func now() time.Time { return time.Now().UTC() }
