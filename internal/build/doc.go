// Package build turns a function's CodeUri from a SAM template into a
// deployment package (a zip) ready for the function registry, the way
// `sam build` would:
//
//   - a CodeUri ending in .zip is used as it is, after checking it is a
//     valid deployment package for the runtime;
//   - Go functions (Metadata BuildMethod go1.x, or a go1.x / provided*
//     runtime whose CodeUri directory is a Go main package inside a module)
//     are compiled with the local Go toolchain as static linux binaries
//     (CGO_ENABLED=0, -trimpath, tag lambda.norpc) named bootstrap (or, for
//     the go1.x runtime, the executable the Handler names);
//   - every other directory (Python, Node, a prebuilt provided* bootstrap)
//     is zipped as it is, node_modules included.
//
// Packages are deterministic (sorted entries, fixed times, normalised modes)
// so the same sources give the same CodeSha256 and a redeploy sees "no
// changes". Builds are cached by a content key: for Go builds it covers
// every source file of the module (so an edit in a sibling package the
// function imports counts), the module's local replacements, the toolchain
// and the Go environment; for copies, the files under CodeUri. A cache hit
// never runs the go command.
//
// The package knows nothing of templates or of the deployer: the caller
// hands it one function's build inputs (Spec) and gets a zip (Artifact).
package build
