module github.com/larder-cache/larder/adapters/chi

go 1.26.0

require github.com/larder-cache/larder v0.0.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/maypok86/otter/v2 v2.4.0 // indirect
)

replace github.com/larder-cache/larder => ../..
