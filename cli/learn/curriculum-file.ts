// A curriculum file's default export, checked (its shape, its task names, its blueprints against Karn's catalog).
import { setUpKarn } from '../../actors/karn/index.ts';
import { isCurriculum, validateCurriculum, type Curriculum } from '../../actors/weatherlight/index.ts';
import { loadDefaultExport, ModuleLoadError } from '../../runtime/module-loader.ts';

export async function loadCurriculum(file: string): Promise<Curriculum> {
  const value = await loadDefaultExport(file);
  if (!isCurriculum(value))
    throw new ModuleLoadError(
      file,
      'is not a curriculum (write `export default defineCurriculum({...})` with tasks and heldOut)',
    );
  const { catalog } = setUpKarn({});
  return validateCurriculum(value, file, (id) => catalog.has(id));
}
