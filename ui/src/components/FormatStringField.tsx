import { getDefaultRegistry } from "@rjsf/core";
import { type FieldProps, getUiOptions } from "@rjsf/utils";
import { humanise } from "../lib/schemaForm";

const { StringField } = getDefaultRegistry().fields;

/** A string whose anyOf only lists the formats it may take (an IPv4 or IPv6 address): one
 * text box with its label, where rjsf would offer a chooser of "Option 1" and "Option 2".
 * The value is still validated against the whole anyOf. rjsf leaves the label and the
 * description of a custom field to the field, so they are drawn here. */
export function FormatStringField(props: FieldProps) {
  const { fieldPathId, schema, uiSchema, name, required } = props;
  const id = fieldPathId.$id;
  const { anyOf: _anyOf, oneOf: _oneOf, ...plain } = schema;
  return (
    <>
      <label className="control-label" htmlFor={id}>
        {getUiOptions(uiSchema).title ?? schema.title ?? humanise(name)}
        {required ? <span className="required">*</span> : null}
      </label>
      {schema.description ? (
        <p id={`${id}__description`} className="field-description">
          {schema.description}
        </p>
      ) : null}
      <StringField {...props} schema={plain} />
    </>
  );
}
