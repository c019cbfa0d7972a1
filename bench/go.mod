module github.com/larder-cache/larder/bench

go 1.26.0

replace github.com/larder-cache/larder => ../

require (
	github.com/gregjones/httpcache v0.0.0-20190611155906-901d90724c79
	github.com/larder-cache/larder v0.0.0
)

require github.com/maypok86/otter/v2 v2.4.0 // indirect
