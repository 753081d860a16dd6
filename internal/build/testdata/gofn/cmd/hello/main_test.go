package main

// Test files never reach the binary: editing one must not rebuild.
