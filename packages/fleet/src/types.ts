/** A tree of configuration values, as written in fleet files (YAML maps, lists and scalars). */
export type Values = { [key: string]: Value };
export type Value = string | number | boolean | null | Value[] | Values;
