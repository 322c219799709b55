#!/usr/bin/env bash
# Installs a CUDA toolchain from PyPI into a venv, enough to BUILD the `cuda`
# feature on a machine without a GPU or a system CUDA (docs/cuda.md).
#
#   scripts/cuda_toolchain.sh            # venv in .cache/cuda-venv
#   CUDA_VENV=/path scripts/cuda_toolchain.sh
#   eval "$(scripts/cuda_toolchain.sh --env)"   # only print the exports
#
# One CUDA release for every part (13.4): cudarc 0.19 rejects 13.5, and PTX
# from a newer nvidia-nvvm is refused by an older ptxas.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CUDA_VENV:-$PWD/.cache/cuda-venv}
PYTHON=${PYTHON:-python3}

print_env() {
  local nv=$1
  echo "export NV=$nv"
  echo "export PATH=$nv/bin:\$PATH"
  echo "export CUDA_ROOT=$nv CUDA_PATH=$nv CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90}"
  # cudarc finds the libraries (and the libcuda stub in lib/stubs) under
  # CUDA_ROOT at link time. At run time the binary needs $nv/lib on the loader
  # path for cuBLAS, cuRAND and NVRTC; the driver's libcuda.so.1 comes from the
  # system on a GPU machine, from $nv/lib/stubs (errors only) elsewhere.
  echo "export LD_LIBRARY_PATH=$nv/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
}

nv_dir() {
  local site
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$site/nvidia/cu13"
}

if [[ ${1:-} == --env ]]; then
  print_env "$(nv_dir)"
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  nvidia-cuda-nvcc==13.4.92 nvidia-nvvm==13.4.92 nvidia-cuda-crt==13.4.92 \
  nvidia-cuda-runtime==13.4.92 nvidia-cuda-nvrtc==13.4.92 \
  nvidia-cuda-cccl==13.3.5.0.6 'nvidia-cublas==13.*' nvidia-curand

NV=$(nv_dir)
[[ -x $NV/bin/nvcc ]] || { echo "nvcc not found under $NV" >&2; exit 1; }

# The wheels ship only versioned names (libcublas.so.13); the linker's -lcublas
# wants libcublas.so.
for lib in "$NV"/lib/lib*.so.*; do
  base=${lib%%.so.*}.so
  [[ -e $base ]] || ln -s "$(basename "$lib")" "$base"
done

# The driver library is not on PyPI. cudarc (feature dynamic-linking, which
# candle turns on) links -lcuda at build time, so link against a stub: every
# entry point of cuda.h returns CUDA_ERROR_STUB_LIBRARY. It goes to lib/stubs,
# where cudarc's build script looks and where a real toolkit keeps its own, so
# that LD_LIBRARY_PATH=$NV/lib never shadows the real driver: on a GPU machine
# the loader finds the system's libcuda.so.1 (same soname).
stubs=$NV/lib/stubs
if [[ ! -e $stubs/libcuda.so.1 || $NV/include/cuda.h -nt $stubs/libcuda.so.1 ||
  scripts/cuda_stub_gen.py -nt $stubs/libcuda.so.1 ]]; then
  mkdir -p "$stubs"
  src=$(mktemp -d)
  "$VENV/bin/python" scripts/cuda_stub_gen.py "$NV/include/cuda.h" > "$src/cuda_stub.c"
  cc -shared -fPIC -O1 -Wl,-soname,libcuda.so.1 -o "$stubs/libcuda.so.1" "$src/cuda_stub.c"
  ln -sf libcuda.so.1 "$stubs/libcuda.so"
  echo "libcuda stub: $(grep -c '^int ' "$src/cuda_stub.c") entry points" >&2
  rm -rf "$src"
fi

echo "# CUDA toolchain ready in $NV; export:" >&2
print_env "$NV"
