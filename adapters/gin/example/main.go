// Command example serves a gin app whose /users routes are behind a Larder
// cache of 10 s. Try it:
//
//	go -C adapters/gin run ./example &
//	curl -si localhost:8080/users/1          # Cache-Status: ...; fwd=uri-miss; stored
//	curl -si localhost:8080/users/1          # Cache-Status: Larder; hit; Age
//	curl -si localhost:8080/users/2          # 404, not stored
//	curl -si -X POST localhost:8080/users/1  # invalidates /users/1
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/larder-cache/larder"
	ginlarder "github.com/larder-cache/larder/adapters/gin"
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

	r := gin.Default() // with gin's logger: hits show with their status and size
	users := r.Group("/users", ginlarder.Route(cache, larder.Expiry(10*time.Second)))
	users.GET("/:id", func(c *gin.Context) {
		if c.Param("id") != "1" {
			c.JSON(http.StatusNotFound, gin.H{"error": "no such user"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": "1", "name": "Bob Bobber", "at": time.Now().Format(time.RFC3339)})
	})
	users.POST("/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	log.Fatal(r.Run(*addr))
}
