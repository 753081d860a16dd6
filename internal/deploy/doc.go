// Package deploy owns the deploy plan of a template stack: what a stack had
// after its last deploy (StackState) and what deploying an Application over
// it would change (Plan). It computes and prints plans only; applying a plan
// (calling the services, storing the new state) is the applier's job.
//
// ComputePlan is pure and deterministic: the same Application, previous
// state and code hashes always give the same Plan, so plans can be compared
// with golden files and shown before anything is touched.
//
// # Order
//
// Plan.Changes lists creates, updates and unchanged resources in
// Application.Order() (dependencies first), then deletes in reverse
// dependency order of the previous state (dependents first). Deletes come
// last, as in CloudFormation's cleanup phase, so resources that stopped
// referring to a removed resource are updated before it disappears.
//
// # Change detection
//
// A resource is unchanged when its manifest Digest and (for functions, when
// both are known) its CodeSha256 equal the previous state's. An update names
// what changed: the top-level properties that differ, "Code", "DependsOn",
// or "definition" when only the typed spec differs (for example a
// SAM-generated setting). A resource whose Lamina type changed under the
// same logical id is an update with Replace set: the applier must delete the
// old resource and create the new one.
package deploy
