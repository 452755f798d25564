module github.com/netmesh-dev/net/go

go 1.22
