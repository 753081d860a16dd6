// Command token prints a bearer token the example's authorizer accepts:
//
//	curl -H "Authorization: Bearer $(go run ./examples/orders/cmd/token)" ...
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/lamina-dev/lamina/examples/orders/internal/orders"
)

func main() {
	secret := flag.String("secret", "orders-dev-jwt-secret", "the JwtSecret parameter the stack was deployed with")
	subject := flag.String("sub", "dev@example.com", "who the token says the caller is")
	ttl := flag.Duration("ttl", time.Hour, "how long the token is valid")
	flag.Parse()
	tok, err := orders.Token([]byte(*secret), *subject, time.Now(), *ttl)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tok)
}
