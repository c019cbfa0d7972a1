// Package bench holds Larder's benchmark suite: in-process comparisons with
// other Go HTTP caches (inprocess_test.go, peers_test.go), store-level hit
// ratio and throughput (store_test.go), and an end-to-end proxy comparison
// with nginx and Varnish (e2e/run.sh). It is a module of its own so that the
// peers it measures never enter Larder's go.mod. See BENCHMARKS.md at the
// repository root for the commands and the latest results.
package bench
