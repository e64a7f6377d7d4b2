# Sourced by the GPU scripts: names the lib directories of NVIDIA's Python wheels (those
# PyTorch installs: nvidia/cu13/lib for CUDA 13, nvidia/<package>/lib for CUDA 12) in
# ACCELRT_CUDA_LIB_DIRS, where the CUDA backend looks first. The backend also searches the
# usual site-packages and toolkit locations itself; this covers virtual environments and
# conda installs it cannot guess. Without python3 it changes nothing.
wheel_dirs=$(python3 - <<'PY' 2>/dev/null || true
import glob, os
dirs = []
try:
    import nvidia
    for root in nvidia.__path__:
        dirs += sorted(glob.glob(os.path.join(root, "cu*", "lib")))
        dirs += sorted(glob.glob(os.path.join(root, "*", "lib")))
except Exception:
    pass
seen = []
for d in dirs:
    if os.path.isdir(d) and d not in seen:
        seen.append(d)
print(":".join(seen))
PY
)
if [ -n "$wheel_dirs" ]; then
    export ACCELRT_CUDA_LIB_DIRS="${ACCELRT_CUDA_LIB_DIRS:+$ACCELRT_CUDA_LIB_DIRS:}$wheel_dirs"
fi
unset wheel_dirs
