// Compiles the shared torch precompiled header (cmake/torch_pch.h) once for all targets.
