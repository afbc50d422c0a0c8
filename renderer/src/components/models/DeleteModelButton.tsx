import { formatBytes } from '../../format/formatBytes.ts';
import { useStrata } from '../../store/useStrata.ts';

/** Deletes a model file from Strata's models folder, once the user confirmed it. */
export function DeleteModelButton({ name, sizeBytes, path }: { name: string; sizeBytes: number; path: string }) {
  const deleteModelFile = useStrata((s) => s.deleteModelFile);
  return (
    <button
      type="button"
      className="button button-small button-danger"
      aria-label={`Delete ${name}`}
      onClick={() => {
        if (window.confirm(`Delete ${name} (${formatBytes(sizeBytes)}) from Strata's models folder?`)) void deleteModelFile(path);
      }}
    >
      Delete
    </button>
  );
}
