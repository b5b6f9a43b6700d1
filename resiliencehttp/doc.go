// Package resiliencehttp protects HTTP clients and servers.
package resiliencehttp
