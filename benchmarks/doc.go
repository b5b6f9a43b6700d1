// Package benchmarks compares this module with its peers in one run. It is a
// separate module so the library's go.mod never lists a peer; see README.md.
package benchmarks
