module github.com/larder-cache/larder

go 1.26
