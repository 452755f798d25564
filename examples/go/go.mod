module github.com/netmesh-dev/net/examples/go

go 1.22

require github.com/netmesh-dev/net/go v0.0.0

replace github.com/netmesh-dev/net/go => ../../go
