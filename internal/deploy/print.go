package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the plan as a table, one change a line in plan order,
// then the summary.
func (p *Plan) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tLOGICAL ID\tTYPE\tCLOUDFORMATION TYPE\tREASON")
	for _, c := range p.Changes {
		cfn := c.CFNType
		if cfn == "" {
			cfn = "-"
		}
		reason := c.Reason
		if reason == "" {
			reason = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Action, c.LogicalID, c.ResourceType, cfn, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nstack %s: %s\n", p.Stack, p.Summary())
	return err
}

// WriteJSON prints the plan as indented JSON with its stable field names.
func (p *Plan) WriteJSON(w io.Writer) error {
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(raw, '\n'))
	return err
}
