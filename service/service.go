// Package service owns how the program lives on a host: where its data sits
// on each operating system, installing and running it as a Windows or Linux
// service (kardianos/service), the environment file the service reads its
// settings from. Every call into kardianos/service is made here; the
// command layer and the daemon import this package, not kardianos.
package service

// Name is the service and folder name on every platform.
const Name = "neurons-connector"
