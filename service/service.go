// Package service owns how the program lives on a host: where its data sits
// on each operating system, and (as the daemon lands) installing and running
// it as a Windows or Linux service. Only package main imports it.
package service

// Name is the service and folder name on every platform.
const Name = "neurons-connector"
