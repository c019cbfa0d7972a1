package redis_test

import (
	"log"
	"net/http"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/redis"
)

// A cache on a standalone Redis. For a cluster, use
// goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: ...,
// ContextTimeoutEnabled: true}); for Sentinel, goredis.NewFailoverClient.
func Example() {
	client := goredis.NewClient(&goredis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // the cache's store deadline bounds each call
	})
	defer client.Close()
	store, err := redis.New(client, redis.Options{Prefix: "shop:"})
	if err != nil {
		log.Fatal(err)
	}
	cache := larder.New(store)
	defer cache.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("hello"))
	})
	_ = http.ListenAndServe("127.0.0.1:8080", cache.Middleware(mux))
}
