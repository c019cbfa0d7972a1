// Command example serves an echo app whose /users routes are behind a
// Larder cache of 10 s. Try it:
//
//	go -C adapters/echo run ./example &
//	curl -si localhost:8080/users/1          # Cache-Status: ...; fwd=uri-miss; stored
//	curl -si localhost:8080/users/1          # Cache-Status: Larder; hit; Age
//	curl -si localhost:8080/users/2          # echo's 404 JSON, not stored
//	curl -si -X POST localhost:8080/users/1  # invalidates /users/1
package main

import (
	"flag"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/larder-cache/larder"
	echolarder "github.com/larder-cache/larder/adapters/echo"
	"github.com/larder-cache/larder/store/memory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	cache := larder.New(store)

	e := echo.New()
	e.Use(middleware.RequestLogger()) // hits show with their status and size
	users := e.Group("/users", echolarder.Route(cache, larder.Expiry(10*time.Second)))
	users.GET("/:id", func(c echo.Context) error {
		if c.Param("id") != "1" {
			return echo.NewHTTPError(http.StatusNotFound, "no such user")
		}
		return c.JSON(http.StatusOK, map[string]string{"id": "1", "name": "Bob Bobber", "at": time.Now().Format(time.RFC3339)})
	})
	users.POST("/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.Logger.Fatal(e.Start(*addr))
}
