package dev.latchkey.internal;

import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;

/** Owner-only modes for new files (0600) and directories (0700) where the file system is POSIX. */
final class FileModes {
    private FileModes() {
    }

    static FileAttribute<?>[] file(Path onFileSystemOf) {
        return mode(onFileSystemOf, "rw-------");
    }

    static FileAttribute<?>[] directory(Path onFileSystemOf) {
        return mode(onFileSystemOf, "rwx------");
    }

    private static FileAttribute<?>[] mode(Path path, String permissions) {
        if (path.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return new FileAttribute<?>[] {
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions))};
        }
        return new FileAttribute<?>[0];
    }
}
