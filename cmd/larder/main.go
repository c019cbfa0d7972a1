// Command larder is a caching reverse proxy: an RFC 9111 HTTP cache in front
// of one upstream.
//
//	larder --upstream http://127.0.0.1:9000 --listen 127.0.0.1:8080
//
// Run larder --help for every flag and its LARDER_* environment variable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
