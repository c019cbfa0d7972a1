package echolarder_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/larder-cache/larder"
	echolarder "github.com/larder-cache/larder/adapters/echo"
	"github.com/larder-cache/larder/store/memory"
)

func Example() {
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	cache := larder.New(store)

	e := echo.New()
	// The GET and the POST share the cache: the POST invalidates the GET.
	users := e.Group("/users", echolarder.Route(cache, larder.Expiry(10*time.Second)))
	users.GET("/:id", func(c echo.Context) error {
		if c.Param("id") != "1" {
			return echo.NewHTTPError(http.StatusNotFound, "no such user")
		}
		return c.JSON(http.StatusOK, map[string]string{"id": "1", "name": "Bob Bobber"})
	})
	users.POST("/:id", func(c echo.Context) error {
		return c.NoContent(http.StatusNoContent)
	})

	srv := httptest.NewServer(e) // or e.Start(addr)
	defer srv.Close()
	get := func(path string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s | %s", resp.StatusCode, resp.Header.Get("Cache-Status"), body)
	}
	get("/users/1")
	get("/users/1")
	get("/users/2")
	get("/users/2")
	resp, err := http.Post(srv.URL+"/users/1", "", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	get("/users/1")
	// Output:
	// 200 Larder; fwd=uri-miss; stored; ttl=10 | {"id":"1","name":"Bob Bobber"}
	// 200 Larder; hit; ttl=10 | {"id":"1","name":"Bob Bobber"}
	// 404 Larder; fwd=uri-miss | {"message":"no such user"}
	// 404 Larder; fwd=uri-miss | {"message":"no such user"}
	// 200 Larder; fwd=uri-miss; stored; ttl=10 | {"id":"1","name":"Bob Bobber"}
}
