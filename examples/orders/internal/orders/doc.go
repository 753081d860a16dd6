// Package orders is the logic of the example orders application, kept
// apart from its Lambda entry points (../../functions/*) so that it is
// tested without a server: the order model and its validation, AES-GCM
// sealing of orders on the queue, the authorizer's decision (a JWT or an
// API key), the worker's batch with partial failures, and the queue-depth
// report.
package orders
