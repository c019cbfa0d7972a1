package larder

// DefaultBodyBuffer is the largest response body the cache holds in memory
// while it stores it in a BodyStreamer store, when no WithBodyBuffer option
// is given.
const DefaultBodyBuffer = 1 << 20

// WithBodyBuffer sets the largest response body, in bytes, that the cache
// holds in memory while it fetches the response to store it, when the store
// is a BodyStreamer and not a NonBlockingStore (store/disk). A response whose
// Content-Length is larger, or whose body grows past n, is streamed into the
// store (BodyStreamer.SetStream) as it goes to the client, under a key of its
// own, up to the max object size (WithMaxObjectSize, which bounds what is
// stored, in memory or not): raise both to store objects far larger than
// memory. Other stores hold every stored body in memory, and ignore it.
// n ≤ 0 keeps the default.
func WithBodyBuffer(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.bodyBuffer = n
		}
	}
}
