// The APK build, for a machine with the Android SDK (and the NDK for the core): see
// build-apk.sh and docs/QA-ANDROID.md. The JVM build and tests of this shell are pom.xml.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "jobpack-android"
include(":app")
