package fleet

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// keyVersion is the layout version in every key name: a release that
// changes what a key holds bumps it, so replicas of two releases never
// read each other's state.
const keyVersion = "v1"

// namespacePattern is what Config.Namespace may hold: it appears raw in
// every key name.
var namespacePattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// hasher turns runtime names (a dependency, a replica) into the short
// opaque labels stored in Redis, so no host, tenant or user name is ever
// written there.
type hasher struct{ secret []byte }

// label returns the first 16 hex digits of HMAC-SHA256(secret, kind+name).
func (h hasher) label(kind, name string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(name))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// keys are the Redis key names of one dependency. Every key shares the
// hash tag {id}, so on Redis Cluster they live in one slot and one script
// can touch them all.
type keys struct {
	id                    string // the dependency's label, also in messages
	state, window, probe  string // breaker: state hash, window hash, probe lease
	bucket, replicaCounts string // limiter: GCRA time, replicas seen
}

func newKeys(namespace, id string) keys {
	p := namespace + ":" + keyVersion + ":{" + id + "}:"
	return keys{id: id, state: p + "st", window: p + "w", probe: p + "p",
		bucket: p + "l", replicaCounts: p + "lr"}
}

// channelName is the namespace's Pub/Sub channel for fleet state changes.
func channelName(namespace string) string {
	return namespace + ":" + keyVersion + ":state"
}

// randomReplica returns a fresh random replica label.
func randomReplica() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
