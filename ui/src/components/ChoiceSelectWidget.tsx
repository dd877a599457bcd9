import { getDefaultRegistry } from "@rjsf/core";
import type { WidgetProps } from "@rjsf/utils";

const { SelectWidget } = getDefaultRegistry().widgets;

/** rjsf's select, with a label of its own where rjsf draws none: the chooser between the
 * anyOf/oneOf shapes of a value ("a file name" or "a file") has no label of its field. */
export function ChoiceSelectWidget(props: WidgetProps) {
  const choice = /__(any|one)of_select$/.test(props.id);
  return (
    <>
      {choice ? (
        <label className="choice-label" htmlFor={props.id}>
          Kind of {props.label}
        </label>
      ) : null}
      <SelectWidget {...props} />
    </>
  );
}
