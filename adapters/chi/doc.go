// Package chilarder holds the tests of Larder with chi (v5); there is
// nothing to import. chi takes the cache's middleware as it is:
//
//	cache := larder.New(store)
//	r := chi.NewRouter()
//	r.Route("/users", func(r chi.Router) {
//		r.Use(cache.Route(larder.Expiry(10 * time.Second)))
//		r.Get("/{id}", getUser)
//		r.Post("/{id}", updateUser) // through the same cache: it invalidates /users/{id}
//	})
//
// or r.Use(cache.Middleware) for the whole router. The trap:
// r.With(cache.Route(...)).Get(...) puts the cache on the GET route alone,
// so a POST registered without it never reaches the cache and never
// invalidates what the GET stored. Put every method of a resource behind
// the same cache, in a group or a sub-router as above.
package chilarder
