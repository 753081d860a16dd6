// Package stacks keeps the state of template stacks between deploys: one
// JSON document per stack in a store KV bucket, written with
// compare-and-set on its revision so that two deploys of one stack cannot
// overwrite each other unseen. The documents are opaque here (the deployer,
// internal/deploy, owns their shape); the service checks only that each is
// a JSON object naming its stack.
package stacks
