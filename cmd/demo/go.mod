module github.com/llm-research-lab/resilience/cmd/demo

go 1.25.0

replace (
	github.com/llm-research-lab/resilience => ../..
	github.com/llm-research-lab/resilience/prometheus => ../../prometheus
)

require (
	github.com/llm-research-lab/resilience v0.0.0
	github.com/llm-research-lab/resilience/prometheus v0.0.0
	github.com/prometheus/client_golang v1.23.2
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.70.0 // indirect
	github.com/prometheus/procfs v0.21.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.46.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
