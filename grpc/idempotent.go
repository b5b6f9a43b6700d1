package resiliencegrpc

import (
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// declared caches ProtoIdempotent's answers, one per method name: the
// registry lookup runs once per method, later calls cost a map read.
var declared sync.Map // full method name → bool

// ProtoIdempotent reports whether the proto definition of fullMethod
// ("/package.Service/Method", as gRPC names it) declares the method free
// of side effects or idempotent:
//
//	rpc Get(GetRequest) returns (Thing) {
//	  option idempotency_level = NO_SIDE_EFFECTS; // or IDEMPOTENT
//	}
//
// It reads the option from the process's registry of compiled protos
// (protoregistry.GlobalFiles), once per method. A method it cannot find,
// or one whose level is IDEMPOTENCY_UNKNOWN (the default), is not
// idempotent. It is the default of [ClientConfig.Idempotent].
func ProtoIdempotent(fullMethod string) bool {
	if v, ok := declared.Load(fullMethod); ok {
		return v.(bool)
	}
	v := lookupIdempotent(fullMethod)
	declared.Store(fullMethod, v)
	return v
}

// lookupIdempotent reads fullMethod's idempotency_level from the registry.
func lookupIdempotent(fullMethod string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok || !protoreflect.FullName(service).IsValid() || !protoreflect.Name(method).IsValid() {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return false
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return false
	}
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok {
		return false
	}
	switch opts.GetIdempotencyLevel() {
	case descriptorpb.MethodOptions_NO_SIDE_EFFECTS, descriptorpb.MethodOptions_IDEMPOTENT:
		return true
	}
	return false
}
