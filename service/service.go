// Package service owns how the program lives on a host: where its data sits
// on each operating system, installing and running it as a Windows or Linux
// service (kardianos/service), the environment file the service reads its
// settings from, and the local control endpoint through which the command
// line reaches a running daemon. Only package main imports it.
package service

// Name is the service and folder name on every platform.
const Name = "neurons-connector"
