package ginlarder_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/larder-cache/larder"
	ginlarder "github.com/larder-cache/larder/adapters/gin"
	"github.com/larder-cache/larder/store/memory"
)

func Example() {
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	cache := larder.New(store)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// The GET and the POST share the cache: the POST invalidates the GET.
	users := r.Group("/users", ginlarder.Route(cache, larder.Expiry(10*time.Second)))
	users.GET("/:id", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "name": "Bob Bobber"})
	})
	users.POST("/:id", func(c *gin.Context) {
		c.Status(http.StatusNoContent)
	})

	srv := httptest.NewServer(r) // or r.Run(addr)
	defer srv.Close()
	get := func() {
		resp, err := http.Get(srv.URL + "/users/1")
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Status"), string(body))
	}
	get()
	get()
	resp, err := http.Post(srv.URL+"/users/1", "", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	get()
	// Output:
	// 200 application/json; charset=utf-8 Larder; fwd=uri-miss; stored; ttl=10 {"id":"1","name":"Bob Bobber"}
	// 200 application/json; charset=utf-8 Larder; hit; ttl=10 {"id":"1","name":"Bob Bobber"}
	// 200 application/json; charset=utf-8 Larder; fwd=uri-miss; stored; ttl=10 {"id":"1","name":"Bob Bobber"}
}
