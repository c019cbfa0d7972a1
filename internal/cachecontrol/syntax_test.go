package cachecontrol

import "github.com/larder-cache/larder/internal/httpsyntax"

// isToken is kept for the existing tests; the package itself uses
// httpsyntax.IsToken.
func isToken(s string) bool { return httpsyntax.IsToken(s) }
