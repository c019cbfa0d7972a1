package larder

import (
	"crypto/sha256"
	"encoding/base64"
)

// strongETag returns a strong entity tag (RFC 9110 §8.8.3) derived from the
// body alone, so every server of a fleet computes the same one.
func strongETag(body []byte) string {
	sum := sha256.Sum256(body)
	b := make([]byte, 0, 2+base64.RawURLEncoding.EncodedLen(18))
	b = append(b, '"')
	b = base64.RawURLEncoding.AppendEncode(b, sum[:18])
	b = append(b, '"')
	return string(b)
}
