// Command example serves a fiber app whose /users routes are behind a
// Larder cache of 10 s. Try it:
//
//	go -C adapters/fiber run ./example &
//	curl -si localhost:8080/users/1          # Cache-Status: ...; fwd=uri-miss; stored
//	curl -si localhost:8080/users/1          # Cache-Status: Larder; hit; Age
//	curl -si localhost:8080/users/2          # fiber's 404, not stored
//	curl -si -X POST localhost:8080/users/1  # invalidates /users/1
package main

import (
	"flag"
	"log"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/logger"
	"github.com/larder-cache/larder"
	fiberlarder "github.com/larder-cache/larder/adapters/fiber"
	"github.com/larder-cache/larder/store/memory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	cache := larder.New(store)

	app := fiber.New()
	app.Use(logger.New()) // hits show with their status and size
	users := app.Group("/users", fiberlarder.Route(cache, larder.Expiry(10*time.Second)))
	users.Get("/:id", func(c *fiber.Ctx) error {
		if c.Params("id") != "1" {
			return fiber.NewError(fiber.StatusNotFound, "no such user")
		}
		return c.JSON(fiber.Map{"id": "1", "name": "Bob Bobber", "at": time.Now().Format(time.RFC3339)})
	})
	users.Post("/:id", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	log.Fatal(app.Listen(*addr))
}
