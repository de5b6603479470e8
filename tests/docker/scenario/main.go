// Command app prints the greeting of the module served by the test's Go proxy.
package main

import (
	"fmt"

	"example.test/greet"
)

func main() { fmt.Println(greet.Hello()) }
