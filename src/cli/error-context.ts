/**
 * libtorch's own messages for a model fed the wrong data ("mat1 and mat2 shapes cannot be multiplied",
 * "Target 9 is out of bounds") say nothing a user can act on. A command names its model and data here
 * before computing; the CLI turns those messages into one line naming both and the fix.
 */
let context: { model?: string; data?: string } = {};

export function setErrorContext(c: { model?: string; data?: string }): void {
  context = { ...context, ...c };
}

/** One line for a raw libtorch error, or null when the message is not one of the known ones. */
export function explainTorchError(message: string): string | null {
  const model = context.model ?? 'the model';
  const data = context.data ?? 'the data';
  const shapes = /mat1 and mat2 shapes cannot be multiplied \(([^)]*)\)/.exec(message);
  if (shapes) {
    return `${model} does not fit the images of ${data} (libtorch: mat1 and mat2 shapes cannot be multiplied, ${shapes[1]}): the images have another size or layout than the model was built for; use data of the model's input size (--input-size with --data), or a model built for this data`;
  }
  const target = /Target (-?\d+) is out of bounds/.exec(message);
  if (target) {
    return `${data} has label ${target[1]}, beyond the classes of ${model} (libtorch: Target ${target[1]} is out of bounds): use the data set the model was built for, or a model with as many classes as the data`;
  }
  const channels = /expected input\[([^\]]*)\] to have (\d+) channels, but got (\d+) channels/.exec(message);
  if (channels) {
    return `${model} takes ${channels[2]}-channel images, ${data} has ${channels[3]} (libtorch: input [${channels[1]}]): use grey vs colour images as the model expects`;
  }
  return null;
}
