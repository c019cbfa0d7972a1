package fiberlarder_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/larder-cache/larder"
	fiberlarder "github.com/larder-cache/larder/adapters/fiber"
	"github.com/larder-cache/larder/store/memory"
)

func Example() {
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	cache := larder.New(store)

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	// The GET and the POST share the cache: the POST invalidates the GET.
	users := app.Group("/users", fiberlarder.Route(cache, larder.Expiry(10*time.Second)))
	users.Get("/:id", func(c *fiber.Ctx) error {
		if c.Params("id") != "1" {
			return fiber.NewError(fiber.StatusNotFound, "no such user")
		}
		return c.JSON(fiber.Map{"id": "1", "name": "Bob Bobber"})
	})
	users.Post("/:id", func(c *fiber.Ctx) error {
		return c.SendStatus(fiber.StatusNoContent)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0") // or app.Listen(addr)
	if err != nil {
		panic(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer func() { _ = app.Shutdown() }()
	base := "http://" + ln.Addr().String()
	get := func(path string) {
		resp, err := http.Get(base + path)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s | %s\n", resp.StatusCode, resp.Header.Get("Cache-Status"), body)
	}
	get("/users/1")
	get("/users/1")
	get("/users/2")
	resp, err := http.Post(base+"/users/1", "", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	get("/users/1")
	// Output:
	// 200 Larder; fwd=uri-miss; stored; ttl=10 | {"id":"1","name":"Bob Bobber"}
	// 200 Larder; hit; ttl=10 | {"id":"1","name":"Bob Bobber"}
	// 404 Larder; fwd=uri-miss | no such user
	// 200 Larder; fwd=uri-miss; stored; ttl=10 | {"id":"1","name":"Bob Bobber"}
}
