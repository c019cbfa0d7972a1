package larder

// entryMeta is what the cache derives from a stored response once, so that a
// hit does not parse header fields again.
type entryMeta struct{}
